"""`hub voice`: what the resident hears, prompt by prompt (语音提示).

    hub voice list                      every prompt: key, recording or TTS, Mandarin and English text
    hub voice check [--json]            render every prompt as the hub would; per prompt the source, the text
                                        as synthesised, voice, duration, loudness, clipping, and what espeak-ng's
                                        phonemes show (Mandarin syllables?); then the keys the voice pack lacks
    hub voice say KEY [-f name=value]   render one prompt and play it here (sample values fill its fields)
    hub voice import PACK               check a voice pack (folder or .zip) and install it in state_dir/voice-pack
    hub voice record KEY [--seconds 8]  record one prompt through arecord into the installed pack

Exit 0 when everything is fine, 1 when a prompt has a problem (named with its remedy), 2 for usage.
Voice packs and how to record them: docs/voice.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from hub.cli.common import add_config_arg, load_config_or_exit
from hub.config.loader import Config
from hub.core.files import SERVICE_USER

EXIT_PROBLEM, EXIT_USAGE = 1, 2


def register(sub: Any) -> None:
    p = sub.add_parser("voice", help="spoken prompts: list, check, say, import or record a voice pack (语音)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = p.add_subparsers(dest="voice_verb", metavar="VERB", required=True)
    for name, helptext in (("list", "list the prompts"), ("check", "render and check every prompt")):
        v = verbs.add_parser(name, help=helptext)
        add_config_arg(v)
        v.add_argument("--json", action="store_true", help="one JSON object")
        v.set_defaults(func=run_list if name == "list" else run_check)
    say = verbs.add_parser("say", help="render one prompt and play it")
    add_config_arg(say)
    say.add_argument("key")
    say.add_argument("-f", "--field", action="append", default=[], metavar="NAME=VALUE", help="a field's value")
    say.add_argument("--english", action="store_true", help="the English text instead")
    say.add_argument("--no-play", action="store_true", help="render only; print where the WAV is")
    say.set_defaults(func=run_say)
    imp = verbs.add_parser("import", help="install a voice pack (folder or .zip)")
    add_config_arg(imp)
    imp.add_argument("pack", type=Path)
    imp.set_defaults(func=run_import)
    rec = verbs.add_parser("record", help="record one prompt with arecord into a voice pack")
    add_config_arg(rec)
    rec.add_argument("key")
    rec.add_argument("--pack", type=Path, help="pack folder (default: the installed one, state_dir/voice-pack)")
    rec.add_argument("--seconds", type=float, default=8.0, help="how long to record (the silence is trimmed)")
    rec.add_argument("--rate", type=int, default=48000, help="sample rate of a new pack's recordings")
    rec.add_argument("--device", default="", help="ALSA capture device (arecord -D), e.g. plughw:1")
    rec.add_argument("--speaker", default="", help="who speaks (for a new pack's manifest)")
    rec.add_argument("--language", default="zh-CN", help="BCP 47 tag for a new pack (yue, nan, zh-CN ...)")
    rec.add_argument("--dialect", default="", help="e.g. 四川话 (for a new pack's manifest)")
    rec.set_defaults(func=run_record)


def _audio(config: Config) -> Any:
    from voice import packs
    from voice.library import PromptAudio

    v = config["voice"]
    cache = config.state_dir / "voice-cache"
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError:  # an installer without write access to state_dir: render into a temp dir
        cache = Path(tempfile.mkdtemp(prefix="hub-voice-"))
    return PromptAudio(cache, state_dir=config.state_dir if cache.is_relative_to(config.state_dir) else None,
                       voice=v["espeak_voice"], speed_wpm=v["speed_wpm"], level_db=v["level_db"],
                       pack_dir=packs.installed(config.state_dir, v["pack"]))


def _hand_over(state_dir: Path) -> None:
    """Run as root (sudo hub voice …), what this wrote into state_dir goes to the service user, so the hub
    (User=eldercare) can read the cache and the pack and write new renders beside them."""
    if os.geteuid() != 0:
        return
    try:
        user = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        return  # not installed as a service (a laptop, or before `hub install`)
    for name in ("voice-cache", "voice-pack", "voice-probe.json"):
        top = state_dir / name
        for path in [top, *(top.rglob("*") if top.is_dir() else ())]:
            with contextlib.suppress(FileNotFoundError):
                os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)


def run_list(args: argparse.Namespace) -> int:
    from voice.catalogue import catalogue, fields_of

    config = load_config_or_exit(args)
    pack = _audio(config).pack()
    rows = [{"key": k, "source": "recording" if pack and pack.recording(k) else "tts", "zh": p.zh, "en": p.en,
             "fields": sorted(fields_of(p))} for k, p in catalogue().items()]
    if args.json:
        print(json.dumps({"prompts": rows}, ensure_ascii=False, indent=1))
        return 0
    for r in rows:
        print(f"{r['key']:<26} {r['source']:<9} {r['zh']}\n{'':<36} {r['en']}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    from voice.report import check_all

    config = load_config_or_exit(args)
    languages = ("zh", "en") if config["voice"]["also_english"] or config["voice"]["language"] == "en" else ("zh",)
    report = check_all(_audio(config), languages)
    _hand_over(config.state_dir)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
        return 0 if report["ok"] else EXIT_PROBLEM
    v = report["voice"]
    print(f"espeak-ng: {report['espeak'] or 'NOT INSTALLED (apt-get install espeak-ng)'}")
    print(f"voice: {v['chosen']!r} (configured {v['configured']!r})"
          + ("" if v["reads_mandarin"] else "  DOES NOT READ MANDARIN"))
    if v["refused"]:
        print(f"  ✗ {v['refused']}")
    pack = report["pack"]
    print(f"voice pack: {pack['name']} ({pack['language']} {pack['dialect']}, {pack['speaker']}), "
          f"{len(pack['recordings'])} recordings" if pack else "voice pack: none (every prompt is TTS)")
    print(f"level: {report['level_db']} dBFS" + ("" if report["sox"] else "  (sox missing: NOT normalised)"))
    for p in report["prompts"]:
        mark = "✓" if p["ok"] else "✗"
        if "wav" in p:
            print(f"{mark} {p['key']:<26} {p['source']:<9} {p['duration']:5.1f} s {p['loudness']:6.1f} dB "
                  f"{'CLIPPING ' if p['clipping'] else ''}{p['text']}")
        else:
            print(f"{mark} {p['key']}")
        for problem in p["problems"]:
            print(f"    ✗ {problem}")
    if pack:
        print(f"missing recordings (TTS is used): {', '.join(report['missing']) or 'none'}")
        if pack["unknown_files"]:
            print(f"files named after no prompt (ignored): {', '.join(pack['unknown_files'])}")
    n_bad = sum(not p["ok"] for p in report["prompts"])
    print(f"{len(report['prompts']) - n_bad}/{len(report['prompts'])} prompts fine, rendered in "
          f"{report['render_s']} s")
    return 0 if report["ok"] else EXIT_PROBLEM


def run_say(args: argparse.Namespace) -> int:
    from voice.catalogue import UnknownPrompt, fields_of, prompt

    config = load_config_or_exit(args)
    try:
        p = prompt(args.key)
    except UnknownPrompt as exc:
        print(f"hub voice say: {exc.args[0]}; see `hub voice list`", file=sys.stderr)
        return EXIT_USAGE
    fields: dict[str, Any] = dict(p.sample)
    for item in args.field:
        name, sep, value = item.partition("=")
        if not sep:
            print(f"hub voice say: --field {item!r}: give NAME=VALUE", file=sys.stderr)
            return EXIT_USAGE
        if name not in fields_of(p):  # 'temprature=36' would render the sample value and look right
            known = ", ".join(sorted(fields_of(p))) or "none"
            print(f"hub voice say: {args.key} has no field {name!r}; its fields: {known}", file=sys.stderr)
            return EXIT_USAGE
        fields[name] = value
    r = _audio(config).render(args.key, "en" if args.english else "zh", config["voice"]["volume"], **fields)
    _hand_over(config.state_dir)
    print(f"{r.key} [{r.source}, {r.voice}] {r.text}\n{r.wav}  {r.duration_s:.2f} s")
    if args.no_play:
        return 0
    return _play(config, r.wav)


def _play(config: Config, wav: Path) -> int:
    v = config["voice"]
    if not shutil.which(v["player"]):
        print(f"no player {v['player']!r}: apt-get install alsa-utils, or set [voice] player", file=sys.stderr)
        return EXIT_PROBLEM
    done = subprocess.run([v["player"], "-q", *(["-D", v["device"]] if v["device"] else []), str(wav)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        said = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        why = said[-1][:160] if said else f"{v['player']} exit {done.returncode}"
        print(f"没有声音输出 no audio output: {why}\n"
              f"  检查扬声器和声卡设置 check the speaker and [voice] device ({v['device'] or 'default'}); "
              f"the prompt is rendered in {wav} (--no-play renders without playing)", file=sys.stderr)
        return EXIT_PROBLEM
    return 0


def run_import(args: argparse.Namespace) -> int:
    from voice import packs

    config = load_config_or_exit(args)
    try:
        pack = packs.import_pack(args.pack, config.state_dir)
    except (packs.PackError, OSError) as exc:
        print(f"hub voice import: {exc}", file=sys.stderr)
        return EXIT_PROBLEM
    _hand_over(config.state_dir)
    if config["voice"]["pack"]:
        print(f"note: [voice] pack = {config['voice']['pack']!r} is set; the hub uses that folder, not this import")
    print(f"installed voice pack {pack.name!r} ({pack.language} {pack.dialect}, {pack.speaker}) in {pack.root}: "
          f"{len(pack.recordings)} recordings; TTS for: {', '.join(pack.missing()) or 'nothing'}")
    if pack.unknown:
        print(f"ignored, named after no prompt: {', '.join(pack.unknown)}")
    print("the running hub picks it up at its next prompt; `hub voice check` lists the loudness of each")
    return 0


def run_record(args: argparse.Namespace) -> int:
    from voice import packs
    from voice.catalogue import UnknownPrompt, prompt
    from voice.recorder import ensure_manifest, record

    config = load_config_or_exit(args)
    root = args.pack or packs.installed(config.state_dir, config["voice"]["pack"]) or \
        config.state_dir / packs.INSTALLED
    try:
        text = prompt(args.key).zh
        root.mkdir(parents=True, exist_ok=True)
        ensure_manifest(root, rate=args.rate, speaker=args.speaker, language=args.language, dialect=args.dialect)
        print(f"请说 say: 「{text}」  (recording {args.seconds:.0f} s ...)", flush=True)
        take = record(args.key, root, seconds=args.seconds, device=args.device)
        _hand_over(config.state_dir)
    except UnknownPrompt as exc:
        print(f"hub voice record: {exc.args[0]}; see `hub voice list`", file=sys.stderr)
        return EXIT_USAGE
    except (packs.PackError, OSError) as exc:
        print(f"hub voice record: {exc}", file=sys.stderr)
        return EXIT_PROBLEM
    for problem in take.problems:
        print(f"  ✗ {problem}; not saved, record it again")
    if take.problems:
        return EXIT_PROBLEM
    print(f"  ✓ {take.path}: {take.duration_s:.1f} s, {take.loudness.level_db} dBFS (normalised when played)")
    return 0
