"""What adapters hand the core and get back: messages, agent actions, case views."""
