"""Config section for technicians: device health."""

from hub.config.keys import Key, Section

HEALTH = Section(
    "device_health",
    "Device health (CPU temperature, throttling, memory, disk, SD writes).",
    {
        "interval_s": Key(
            900,
            "How often telemetry.device is sent; status is refreshed at the same time.",
            min=30,
            max=86400,
        ),
        "cpu_temp_warn_c": Key(80.0, "CPU temperature that is reported as too hot.", min=40, max=110),
        "disk_min_free_mb": Key(
            200,
            "Free space on the state directory's disk below which the self-test fails.",
            min=10,
            max=100000,
        ),
        "write_warn_mb_per_h": Key(
            50.0, "Bytes written to storage per hour above which SD wear is flagged.", min=1, max=100000
        ),
    },
)


SECTIONS: list[Section] = [HEALTH]
