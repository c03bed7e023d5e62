"""The weekly alert-review meeting: agenda, decisions, minutes, chat post and follow-up."""
