"""Config section for technicians: device health."""

from hub.config.keys import Key, Section
from hub.core.certs import KEY_TYPES

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


CERTIFICATES = Section(
    "certificates",
    "The unit's TLS client certificate ([mqtt.tls] cert): expiry warnings and rotation (cmd/rotate_cert).",
    {
        "warn_days": Key(30, "Days before expiry from which status and the self-test say to renew it.", min=1,
                         max=365),
        "fault_days": Key(7, "Days before expiry from which fault.certificate is raised (and when expired).",
                          min=0, max=365),
        "check_interval_s": Key(3600, "How often the certificate's expiry is checked.", min=60, max=86400),
        "key_type": Key("ec-p256", "Key made for a new certificate: ec-p256 (any broker) or ed25519 (mosquitto 2 on "
                                   "OpenSSL 3; check the platform's broker first).",
                        choices=KEY_TYPES),
        "rotation_timeout_s": Key(60.0, "A rotated certificate must connect within this long (given up at once "
                                        "when the broker refuses it twice), else the hub goes back to the old one.",
                                  min=2, max=3600),
    },
)

SECTIONS: list[Section] = [HEALTH, CERTIFICATES]
