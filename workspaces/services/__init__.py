"""Write services of the workspaces app, one module per entity."""
