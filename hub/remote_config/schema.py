"""The `[remote_config]` section: whether the platform may set this hub's config, and the rollback guard."""

from hub.config.keys import Key, Section

ROLLBACK_CEILING_S = 600  # the longest a change can stay on trial, whatever a config file says

REMOTE_CONFIG = Section(
    "remote_config",
    "Configuration set by the platform (retained {prefix}/{hub}/config/desired; docs/fleet.md).",
    {
        "enabled": Key(True, "Accept desired config from the platform (no [remote_config] key can be changed "
                             "remotely)."),
        "rollback_after_s": Key(
            300,
            "After a change that needs a restart, the hub must be back on the broker within this many seconds, "
            "else the previous hub.toml is restored and the hub restarts on it (reported as rolled_back).",
            min=10,
            max=ROLLBACK_CEILING_S,
        ),
        "max_bytes": Key(65536, "A desired document larger than this is refused.", min=1024, max=1048576),
    },
)

SECTIONS: list[Section] = [REMOTE_CONFIG]
