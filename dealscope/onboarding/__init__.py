"""Bringing a CRM export to dealscope: `dealscope init` drafts the mapping file (dealscope.yml) from the
files in a folder, and activities become candidate negotiation events by `event_rules`.

The mapping format itself and the engine that applies it live in dealscope.mapping; docs/mapping.md
walks an analyst through both.
"""
