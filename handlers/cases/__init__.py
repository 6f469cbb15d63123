"""The agents' desk: cases, what agents see of them, assist."""
