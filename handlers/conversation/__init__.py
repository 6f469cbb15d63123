"""A creator's turn: the policy, the state machine, intents and commands."""
