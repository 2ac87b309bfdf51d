"""amplifier-foreman's generic Amplifier modules, one subpackage per module id (issue 9, item 3).

Each ``modules/<id>/<id_with_underscores>/`` folder is installed as
``amplifier_foreman_modules.<id_with_underscores>`` and offered under entry point ``<id>`` in group
``amplifier.modules``. No file here shares an import package with any other distribution: Microsoft's
modules ship ``amplifier_module_<id>``, so both can be installed side by side, and a mount plan chooses
between them with ``source`` (see ``setup_modules.py``).
"""
