"""Config section for the unit's TLS client certificate: expiry warnings and rotation."""

from hub.config.keys import Key, Section

# Here, not in hub.certificates.x509: validating a config must not import the certificate code (and
# hashlib, json ...) on every start (issue 23: start-up).
KEY_TYPES = ("ec-p256", "ed25519")

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

SECTIONS: list[Section] = [CERTIFICATES]
