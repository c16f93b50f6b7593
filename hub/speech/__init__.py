"""What the resident hears and sees: one voice at a time, questions a press answers, the LED and buzzer.

Shared by every capability through the context (`ctx.say`, `ctx.speak`, `ctx.ask`, `ctx.feedback`).
`queue.py` (`SpeechQueue`) is the single speech queue, saying `utterance.py`'s utterances in the order
`waiting.py` picks; `render.py` turns a prompt key and its fields into words and a WAV (voice pack or
espeak-ng); `player.py` plays it; `questions.py` holds the open question a press answers; `feedback.py`
drives the status LED and buzzer patterns.
"""
