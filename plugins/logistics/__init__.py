"""Carrier plugins: the table-rate carrier (data in the database) and the HTTP carrier."""
