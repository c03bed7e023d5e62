from django.dispatch import Signal

# Sent after a delivery's transaction commits, with `weeks`: the ISO weeks (e.g. "2026-W47")
# whose episodes it opened, changed or closed. The noise evaluation listens to re-evaluate them.
episodes_changed = Signal()
