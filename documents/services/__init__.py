"""Write services of the documents app, one module per entity."""
