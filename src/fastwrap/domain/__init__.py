"""The pure core: entities, rules and use cases. Standard library only."""
