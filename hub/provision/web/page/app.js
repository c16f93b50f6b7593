"use strict";
// The set-up page: no framework, no external asset, works on a phone without internet.
let lang = "zh";
let csrf = "";
let bundle = null;      // the bundle being checked, as the installer corrects it
let secrets = [];       // bundle fields never shown or sent back by the unit
let chosenNetwork = "";
const $ = (id) => document.getElementById(id);
const t = (zh, en) => (lang === "zh" ? zh : en);

function setLang(next) {
  lang = next;
  document.documentElement.lang = next === "zh" ? "zh-CN" : "en";
  for (const el of document.querySelectorAll("[data-zh]")) el.textContent = el.dataset[next];
  $("lang").textContent = next === "zh" ? "English" : "中文";
}

async function api(path, body) {
  const opts = body === undefined ? {} : {
    method: "POST", body: JSON.stringify(body),
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
  };
  const response = await fetch(path, opts);
  let data = {};
  try { data = await response.json(); } catch (e) { data = { error: response.statusText }; }
  if (!response.ok && response.status !== 422) throw new Error(data.error || response.statusText);
  return data;
}

function say(id, text, ok) {
  const el = $(id);
  el.textContent = text;
  el.className = "msg " + (ok === true ? "ok" : ok === false ? "bad" : "");
}

// --- the bundle from the QR link (#EHUB1:...) or pasted --------------------------------------------
async function decodeBundle(text) {
  text = decodeURIComponent(text.trim()).replace(/^bundle=/, "");
  if (!text.startsWith("EHUB1:")) return JSON.parse(text);
  const b64 = text.slice(6).replace(/-/g, "+").replace(/_/g, "/");
  const raw = Uint8Array.from(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0));
  const stream = new Blob([raw]).stream().pipeThrough(new DecompressionStream("deflate"));
  return JSON.parse(await new Response(stream).text());
}

function leaves(value, path, out) {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) leaves(v, path ? `${path}.${k}` : k, out);
  } else if (Array.isArray(value) && value.some((v) => v !== null && typeof v === "object")) {
    value.forEach((v, i) => leaves(v, `${path}.${i}`, out));
  } else {
    out.push([path, value]);
  }
  return out;
}

function setPath(obj, path, value) {
  const parts = path.split(".");
  let node = obj;
  for (const p of parts.slice(0, -1)) node = node[p];
  node[parts[parts.length - 1]] = value;
}

function parseInput(input) {
  const kind = input.dataset.kind;
  if (kind === "number") return input.value.trim() === "" ? null : Number(input.value);
  if (kind === "boolean") return input.checked;
  if (kind === "list") return input.value.split(",").map((s) => s.trim()).filter((s) => s);
  return input.value;
}

// Names an installer reads; anything else shows its bundle path.
const LABELS = [
  [/^hub\.id$/, "终端编号", "Hub ID"], [/^hub\.resident_ref$/, "老人编号", "Resident ref"],
  [/^hub\.community_ref$/, "社区编号", "Community ref"], [/^hub\.timezone$/, "时区", "Time zone"],
  [/^broker\.host$/, "平台地址", "Platform host"], [/^broker\.port$/, "平台端口", "Platform port"],
  [/^broker\.username$/, "平台用户名", "Platform user"], [/^broker\.password$/, "平台密码", "Platform password"],
  [/^hardware\.buttons\.(\d+)\.pin$/, "按钮 $1 引脚 (GPIO)", "Button $1 pin (GPIO)"],
  [/^hardware\.buttons\.(\d+)\.kind$/, "按钮 $1 用途", "Button $1 kind"],
  [/^hardware\.pir\.pin$/, "人体感应引脚", "Motion sensor pin"],
  [/^hardware\.smoke\./, "烟感 ", "Smoke "], [/^hardware\.temperature\./, "温度传感器 ", "Temperature "],
];

function labelOf(path) {
  for (const [re, zh, en] of LABELS) {
    if (re.test(path)) {
      const text = path.replace(re, t(zh, en));
      return `${text}  (${path})`;
    }
  }
  return path;
}

function showFields() {
  const form = $("fields");
  form.textContent = "";
  for (const [path, value] of leaves(bundle, "", [])) {
    const row = document.createElement("label");
    row.className = "field";
    const name = document.createElement("span");
    name.textContent = labelOf(path);
    const input = document.createElement("input");
    input.name = path;
    input.autocomplete = "off";
    if (typeof value === "boolean") { input.type = "checkbox"; input.checked = value; input.dataset.kind = "boolean"; }
    else if (typeof value === "number") { input.type = "text"; input.inputMode = "numeric"; input.value = value; input.dataset.kind = "number"; }
    else if (Array.isArray(value)) { input.value = value.join(", "); input.dataset.kind = "list"; }
    else { input.value = value === null ? "" : value; input.dataset.kind = "text"; }
    if (secrets.includes(path)) { input.type = "password"; input.placeholder = t("已填写", "filled in"); }
    const problem = document.createElement("em");
    problem.className = "problem";
    input.addEventListener("change", () => checkField(input, problem));
    row.append(name, input, problem);
    form.append(row);
  }
  $("provision-go").classList.remove("hidden");
}

async function checkField(input, problem) {
  const value = parseInput(input);
  setPath(bundle, input.name, value);   // the answer is kept whatever the check says
  const result = await api("/api/provision/field", { path: input.name, value });
  problem.textContent = result.problem || "";
  input.classList.toggle("wrong", Boolean(result.problem));
  return !result.problem;
}

async function provision() {
  say("provision-msg", t("正在保存…", "Saving…"));
  const result = await api("/api/provision", { bundle });
  if (result.ok) {
    say("provision-msg", t(`已保存：终端 ${result.hub_id}。点“完成安装”后生效（安装模式结束时也会生效）。`, `Saved: hub ${result.hub_id}. It takes effect when you finish (or when set-up mode ends).`), true);
    return;
  }
  const input = document.querySelector(`#fields input[name="${CSS.escape(result.field)}"]`);
  if (input) {
    input.classList.add("wrong");
    input.nextElementSibling.textContent = result.problem;
    input.focus();
  }
  say("provision-msg", `${result.field}: ${result.problem}`, false);
}

async function loadBundle(text, source) {
  try {
    bundle = await decodeBundle(text);
    $("bundle-source").textContent = source;
    showFields();
  } catch (e) {
    say("provision-msg", t("读不出配置包，请重新扫码或粘贴", "Could not read the bundle: scan or paste it again"), false);
  }
}

// --- the other steps -------------------------------------------------------------------------------
async function wifiScan() {
  say("wifi-msg", t("搜索中…", "Searching…"));
  try {
    const { networks } = await api("/api/wifi");
    const list = $("networks");
    list.textContent = "";
    for (const n of networks) {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = `${n.ssid}  (${n.signal}%)${n.secured ? " 🔒" : ""}`;
      b.addEventListener("click", () => { chosenNetwork = n.ssid; $("wifi-password").classList.remove("hidden"); $("wifi-go").classList.remove("hidden"); say("wifi-msg", t(`已选 ${n.ssid}，输入密码`, `${n.ssid}: enter its password`)); });
      li.append(b);
      list.append(li);
    }
    say("wifi-msg", networks.length ? "" : t("没有找到网络", "No network found"));
  } catch (e) { say("wifi-msg", e.message, false); }
}

async function wifiConnect() {
  say("wifi-msg", t("连接中…", "Connecting…"));
  try {
    await api("/api/wifi", { ssid: chosenNetwork, password: $("wifi-password").value });
    say("wifi-msg", t(`已连接 ${chosenNetwork}`, `Connected to ${chosenNetwork}`), true);
  } catch (e) { say("wifi-msg", e.message, false); }
}

async function devicesScan() {
  say("devices-msg", t("搜索中（约 5 秒）…", "Searching (about 5 s)…"));
  try {
    const { devices } = await api("/api/devices");
    const list = $("device-list");
    list.textContent = "";
    for (const d of devices) {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = `${d.name || "?"}  ${d.address}  (${d.rssi} dBm)`;
      b.addEventListener("click", () => pair(d.address));
      li.append(b);
      list.append(li);
    }
    say("devices-msg", devices.length ? t("点设备配对", "Tap a device to pair it") : t("没有找到设备", "No device found"));
  } catch (e) { say("devices-msg", e.message, false); }
}

async function pair(address) {
  say("devices-msg", t("配对中…", "Pairing…"));
  try {
    const meter = await api("/api/devices", { address });
    say("devices-msg", t(`已配对 ${meter.name}。请测一次，读数会显示在这里。`, `Paired ${meter.name}. Take a measurement: it shows here.`), true);
    pollReading();
  } catch (e) { say("devices-msg", e.message, false); }
}

async function pollReading() {
  for (let i = 0; i < 120; i++) {
    const { reading } = await api("/api/devices/reading");
    if (reading) {
      const el = $("reading");
      el.classList.remove("hidden");
      el.textContent = reading.systolic !== undefined
        ? t(`最新读数：血压 ${reading.systolic}/${reading.diastolic} mmHg，脉搏 ${reading.pulse}`, `Last reading: ${reading.systolic}/${reading.diastolic} mmHg, pulse ${reading.pulse}`)
        : t(`最新读数：血糖 ${reading.mmol_per_l} mmol/L`, `Last reading: glucose ${reading.mmol_per_l} mmol/L`);
      return;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function testCall() {
  try {
    const { token } = await api("/api/testcall", {});
    say("call-msg", t("请现在按紧急呼叫按钮…", "Press the emergency button now…"));
    const r = await api("/api/testcall/wait", { token });
    if (r.ok) say("call-msg", t(`平台已确认（${r.by}），用时 ${(r.ack_round_trip_ms / 1000).toFixed(1)} 秒`, `Acknowledged by the platform (${r.by}) in ${(r.ack_round_trip_ms / 1000).toFixed(1)} s`), true);
    else say("call-msg", t(`失败：${r.error}`, `Failed: ${r.error}`), false);
  } catch (e) { say("call-msg", e.message, false); }
}

function resultRow(r) {
  const tr = document.createElement("tr");
  tr.className = r.result;
  for (const text of [r.component, r.result === "pass" ? "✔" : r.result === "fail" ? "✘" : "–", r.value, r.remedy]) {
    const td = document.createElement("td");
    td.textContent = text || "";
    tr.append(td);
  }
  return tr;
}

async function selftest() {
  say("selftest-msg", t("自检中…", "Checking…"));
  try {
    const report = await api("/api/selftest");
    const body = $("selftest-table").tBodies[0];
    body.textContent = "";
    report.results.forEach((r) => body.append(resultRow(r)));
    $("selftest-table").classList.remove("hidden");
    say("selftest-msg", report.ok ? t("自动检查全部通过", "All automatic checks passed") : t(`${report.failed} 项未通过，见右列处理方法`, `${report.failed} failed: see the remedy`), report.ok);
    const { steps } = await api("/api/selftest/steps");
    const guided = $("guided");
    guided.textContent = "";
    steps.forEach((s, i) => {
      if (s.pin === null) return;
      const b = document.createElement("button");
      b.type = "button";
      b.className = "step";
      b.textContent = s.prompt;
      b.addEventListener("click", async () => {
        b.disabled = true;
        b.textContent = t("等待中：", "Waiting: ") + s.prompt;
        try {
          const r = await api("/api/selftest/step", { index: i });
          b.textContent = (r.result === "pass" ? "✔ " : "✘ ") + s.prompt + (r.remedy ? ` — ${r.remedy}` : "");
          b.className = "step " + r.result;
        } catch (e) { b.textContent = e.message; }
        b.disabled = false;
      });
      guided.append(b);
    });
  } catch (e) { say("selftest-msg", e.message, false); }
}

async function done() {
  try {
    const s = await api("/api/done", {});
    const el = $("summary");
    el.classList.remove("hidden");
    el.textContent = t(`安装完成。终端 ${s.hub_id}（机身号 ${s.serial}），平台连接：${s.broker}，未处理报警：${s.open_alarms}。`,
      `Set-up finished. Hub ${s.hub_id} (serial ${s.serial}), platform: ${s.broker}, open alarms: ${s.open_alarms}.`);
  } catch (e) { $("summary").textContent = e.message; }
}

async function showStatus() {
  try {
    const s = await api("/api/status");
    const el = $("status");
    el.classList.remove("hidden");
    el.textContent = t(`平台：${s.broker}　Wi-Fi：${s.wifi.ssid || "热点"}　时间：${new Date().toLocaleTimeString()}　未处理报警：${s.open_alarms ?? "-"}`,
      `Platform: ${s.broker}  Wi-Fi: ${s.wifi.ssid || "hotspot"}  Time: ${new Date().toLocaleTimeString()}  Open alarms: ${s.open_alarms ?? "-"}`);
  } catch (e) { /* shown again on the next tick */ }
}

async function login() {
  try {
    const r = await api("/api/login", { code: $("code").value });
    csrf = r.csrf;
    $("login").classList.add("hidden");
    $("steps").classList.remove("hidden");
    showStatus();
    setInterval(showStatus, 5000);
    if (location.hash.length > 1) loadBundle(location.hash.slice(1), t("来自平台二维码", "From the platform's QR code"));
  } catch (e) { say("login-msg", e.message, false); }
}

document.addEventListener("DOMContentLoaded", async () => {
  $("lang").addEventListener("click", () => setLang(lang === "zh" ? "en" : "zh"));
  $("login-go").addEventListener("click", login);
  $("code").addEventListener("keydown", (e) => { if (e.key === "Enter") login(); });
  $("paste-go").addEventListener("click", () => loadBundle($("paste").value, t("粘贴的配置包", "Pasted bundle")));
  $("provision-go").addEventListener("click", provision);
  $("wifi-scan").addEventListener("click", wifiScan);
  $("wifi-go").addEventListener("click", wifiConnect);
  $("devices-scan").addEventListener("click", devicesScan);
  $("call-go").addEventListener("click", testCall);
  $("selftest-go").addEventListener("click", selftest);
  $("done-go").addEventListener("click", done);
  const hello = await api("/api/hello");
  $("serial").textContent = hello.serial || "-";
  secrets = hello.secrets || [];
});
