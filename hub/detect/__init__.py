"""Fall and inactivity detection on the unit, with the spoken check before an alarm.

The detectors themselves are pure logic fed readings and time (`fall.py`, `inactivity.py`,
`inactivity_routine.py`, `inactivity_params.py`). The components that run them in the hub are
`fall_component.py` and `inactivity_component.py` (`build`); their config sections are in `schema.py`;
`eval_fall.py` and `eval_inactivity.py` run them over recorded data (`hub eval`); `sim_fall.py` and
`sim_inactivity.py` serve `hub sim fall|radar|inactivity`.
"""
