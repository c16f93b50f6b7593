"""Config section [setup_mode]: the installer's web page on the unit's own hotspot (docs/install.md)."""

from __future__ import annotations

from hub.config.keys import Key, Section

SETUP_MODE = Section("setup_mode", "Set-up mode: the unit's own Wi-Fi hotspot and a set-up page for the "
                                   "installer's phone, for 30 minutes after a 10 s hold of the set-up button at "
                                   "start, `hub setup-mode start`, or a first boot without a config.", {
    "enabled": Key(True, "Allow set-up mode at all."),
    "button_pin": Key(0, "BCM pin of a recessed set-up button (raises no call); 0 = hold the first call button "
                         "(its press still raises a call, as every press does).", min=0, max=27),
    "hold_s": Key(10.0, "Hold the set-up button this long to enter set-up mode.", min=3, max=30),
    "start_window_s": Key(120.0, "Only this long after the hub starts (a resident's long press later never "
                                 "opens it).", min=10, max=600),
    "timeout_min": Key(30.0, "Set-up mode ends by itself after this long.", min=1, max=120),
    "hotspot": Key(True, "Open the unit's own Wi-Fi hotspot with nmcli (false: serve on `address` as it is, "
                         "e.g. in the simulated demo)."),
    "ifname": Key("wlan0", "Wi-Fi interface for the hotspot and for joining the home's Wi-Fi."),
    "ssid_prefix": Key("Eldercare-", "Hotspot name: this plus the unit's serial from its label."),
    "address": Key("10.42.0.1", "Address the page listens on: NetworkManager's hotspot address (the page is "
                                "served on that interface only)."),
    "port": Key(8080, "Port of the set-up page.", min=1024, max=65535),
})

SECTIONS = [SETUP_MODE]
