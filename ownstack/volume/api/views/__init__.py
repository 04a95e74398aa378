"""The volume API's response bodies, one module per noun, per microversion."""
