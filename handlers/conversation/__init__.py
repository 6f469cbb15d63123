"""A creator's turn: the conversation state machine, intents and commands."""
