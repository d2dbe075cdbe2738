"""CDS Hooks 2.0 responses: the pharmacogenomic cards (:mod:`.cards`) and the checks of a card
response (:mod:`.validate`).

Not imported here: each module is loaded where it is used.
"""
