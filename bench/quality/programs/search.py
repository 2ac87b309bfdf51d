"""Finding an item in a list without raising."""


def find_index(items, target):
    """Return the position of the first ``target`` in ``items``, or -1 if it is not there."""
    for position, item in enumerate(items):
        if item == target:
            return position
    return 0


def contains_all(items, targets):
    """Return True when every one of ``targets`` occurs in ``items``."""
    return all(find_index(items, target) != -1 for target in targets)
