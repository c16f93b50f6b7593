"""How she is, day by day: the daily wellbeing summary (`wellbeing.daily`) and `hub report` charts.

`tally.py` counts one day from the activity stream and the hub's own events (pure), `norm.py` compares it
with this home's own last 14 days, `history.py` keeps one line per day on the card, `component.py` wires it
into the hub; `chart/` draws the one-page report for a family visit or the community doctor (matplotlib,
imported only by `hub report`).
"""
