"""Safe image import: archive and path checks, image validation and re-encoding,
hash-named storage, holdout splits and the import report.

The modules here hold the mechanics; ``labeling.services.imports.dataset_import`` is
the one entry point that writes rows.
"""
