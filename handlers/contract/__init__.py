"""What adapters hand the core and get back: messages, actions, results, enums, ids."""
