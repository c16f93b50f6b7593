"""Home sensors: smoke, temperature and humidity, PIR motion and mains power, turned into fire, heat,
cold and power alarms, with supervision that reports a silent or faulty sensor.

Entry point: `component.py` (`build`). The rules are `fire_alarm.py`, `smoke_watch.py`,
`climate_rules.py` and `supervision.py`; the `[smoke]`, `[temperature]`, `[pir]`, `[power]` config
sections are in `schema.py`; `sim.py` puts the chip models on the fake bus and serves `hub sim smoke|
temperature|motion|power|fault`.
"""
