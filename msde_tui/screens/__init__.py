"""Wizard screens (Textual). Screens call the engine, never SQL."""
