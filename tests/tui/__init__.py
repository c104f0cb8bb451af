"""The wizard, driven by Textual's Pilot (and tmux): screens, flows, snapshots, start-up."""
