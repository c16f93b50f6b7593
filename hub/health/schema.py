"""Config sections for Bluetooth meters ([ble]) and how their readings are graded ([health_grading]).

Every grading number lives here with its source; docs/health.md explains each one. Defaults follow
the Chinese hypertension guideline (2018 revision) and the Chinese type 2 diabetes guideline, the
ones community doctors use for follow-up.
"""

from hub.config.keys import Key, Section

BLE = Section(
    "ble",
    "Bluetooth LE blood-pressure and glucose meters (paired with 'hub ble pair').",
    {
        "enabled": Key(True, "Listen for paired meters at all."),
        "adapter": Key("", "BlueZ adapter to use, e.g. 'hci1' ('' = the default adapter)."),
        "connect_timeout_s": Key(20.0, "Give up connecting to an advertising meter after this long.", min=1, max=120),
        "racp_timeout_s": Key(
            15.0, "Abort a glucose download after this long without a record or answer.", min=1, max=300
        ),
        "bp_idle_s": Key(10.0, "Hang up on a BP meter this long after its last reading.", min=1, max=300),
        "cooldown_s": Key(10.0, "Ignore a meter's adverts this long after a complete download.", min=0, max=3600),
        "backoff_min_s": Key(
            1.0, "First retry delay after a failed connection (doubles, with jitter).", min=0.1, max=60
        ),
        "backoff_max_s": Key(60.0, "Cap on the retry delay.", min=1, max=3600),
        "write_time": Key(True, "Set the meter's clock (Current Time 0x2A2B / Date Time 0x2A08) on each visit."),
        "future_tolerance_min": Key(
            60.0, "A meter stamp further ahead of the hub than this is flagged implausible.", min=0, max=10080
        ),
        "max_age_days": Key(400.0, "A meter stamp older than this is flagged implausible.", min=1, max=3650),
        "download_max_s": Key(
            120.0,
            "Hang up on a meter whose whole visit takes longer, so the other meters are served.",
            min=10,
            max=3600,
        ),
        "extra_profiles": Key(
            "",
            "TOML file of extra meter quirk profiles, checked before the built-in ones "
            "(format: sensors/meters/profiles.toml; '' = none).",
        ),
    },
)

HEALTH = Section(
    "health_grading",
    "Grading of meter readings, urgent referral and weekly follow-up (docs/health.md).",
    {
        "bp_high_normal_sys": Key(120, "Systolic mmHg from which BP is high-normal (guideline 2018).", min=60, max=300),
        "bp_high_normal_dia": Key(80, "Diastolic mmHg from which BP is high-normal.", min=30, max=200),
        "bp_grade1_sys": Key(140, "Systolic mmHg from which BP is grade 1 hypertension.", min=60, max=300),
        "bp_grade1_dia": Key(
            90,
            "Diastolic mmHg from which BP is grade 1 (and below which raised systolic "
            "alone is isolated systolic hypertension).",
            min=30,
            max=200,
        ),
        "bp_grade2_sys": Key(160, "Systolic mmHg from which BP is grade 2.", min=60, max=300),
        "bp_grade2_dia": Key(100, "Diastolic mmHg from which BP is grade 2.", min=30, max=200),
        "bp_grade3_sys": Key(
            180, "Systolic mmHg from which BP is grade 3 (also the urgent referral line).", min=60, max=300
        ),
        "bp_grade3_dia": Key(
            110, "Diastolic mmHg from which BP is grade 3 (also the urgent referral line).", min=30, max=200
        ),
        "glucose_hypo": Key(3.9, "mmol/L below which capillary glucose is hypoglycaemia.", min=1, max=10),
        "glucose_hypo_severe": Key(3.0, "mmol/L below which hypoglycaemia is severe (level 2).", min=1, max=10),
        "glucose_fasting_high": Key(7.0, "Fasting mmol/L from which glucose is high.", min=3, max=30),
        "glucose_nonfasting_high": Key(
            11.1, "Non-fasting (random / after a meal) mmol/L from which glucose is high.", min=3, max=40
        ),
        "glucose_dangerous": Key(16.7, "mmol/L from which glucose is dangerous (urgent referral).", min=5, max=60),
        "glucose_referral_low": Key(3.9, "mmol/L at or below which a reading triggers urgent referral.", min=1, max=10),
        "fasting_meals": Key(
            ["fasting"],
            "Meal contexts graded with the fasting threshold (add 'before' to treat pre-meal readings as fasting).",
            kind=list,
        ),
        "trend_days": Key(7, "Days of readings behind the management level and weekly follow-up.", min=1, max=90),
        "follow_up_bp_grade": Key(
            "grade_2",
            "A trend average at or above this BP grade asks for a follow-up.",
            choices=("grade_1", "grade_2", "grade_3"),
        ),
        "follow_up_min_bp_readings": Key(
            3,
            "BP readings needed in the window before their average can ask for a follow-up.",
            min=1,
            max=100,
        ),
        "follow_up_interval_days": Key(7, "At most one health.follow_up per this many days.", min=1, max=90),
        "alert_repeat_min": Key(
            60,
            "Within this many minutes of a health.alert, a reading from the same meter for the same "
            "reason that is no worse is published with repeat_of instead of a second alert; a worse "
            "one alerts at once (0 = alert every time).",
            min=0,
            max=1440,
        ),
        "pulse_alert_low": Key(40, "Resting pulse /min below which health.alert is raised.", min=20, max=80),
        "pulse_follow_up_low": Key(
            50,
            "Resting pulse /min below which (down to the alert line) it is flagged for follow-up.",
            min=20,
            max=80,
        ),
        "pulse_follow_up_high": Key(
            100,
            "Resting pulse /min above which (up to the alert line) it is flagged for follow-up.",
            min=60,
            max=200,
        ),
        "pulse_alert_high": Key(130, "Resting pulse /min above which health.alert is raised.", min=60, max=250),
        "ketone_elevated": Key(0.6, "Blood ketone mmol/L from which it is elevated.", min=0.1, max=10),
        "ketone_high": Key(1.5, "Blood ketone mmol/L from which it is high (flagged for follow-up).", min=0.1, max=10),
        "ketone_dangerous": Key(3.0, "Blood ketone mmol/L from which it is dangerous (health.alert).", min=0.1, max=10),
    },
)

SECTIONS: list[Section] = [BLE, HEALTH]
