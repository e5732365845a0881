"""What every app's REST API shares: error answers and their schema, strict fields, pagination, customer names."""
