"""halls — what the assistant and the doorplate both stand on: the places of a city's service
network and their booking hours, the hall's clock, masking of personal data, the SQL base every
table is declared on, and how often each item is asked about at each place.

It imports no other wing of Zhiyin: ``knowledge``, ``assistant`` and ``doorplate`` import it.
"""
