"""Notices from the platform (`cmd/notice`) and the unit's own reminders, spoken and confirmed by a press."""
