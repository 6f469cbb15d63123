"""The agents' desk: opening cases, what agents do to them and see of them, assist."""
