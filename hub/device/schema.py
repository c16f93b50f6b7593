"""Config sections for installers and technicians: the cellular modem (if fitted) and device health."""

from hub.config.keys import Key, Section

MODEM = Section(
    "modem",
    "Cellular modem for a backup link (optional; the self-test checks it answers AT).",
    {
        "port": Key(
            None,
            "Serial device of the modem's AT port; absent = no modem fitted.",
            kind=str,
            optional=True,
            example="/dev/ttyUSB2",
        ),
        "baudrate": Key(
            115200, "AT port speed.", choices=(9600, 19200, 38400, 57600, 115200, 230400, 460800)
        ),
    },
)

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

SECTIONS: list[Section] = [MODEM, HEALTH]
