"""Temperature conversion for a weather report."""


def to_fahrenheit(celsius):
    """Convert degrees Celsius to degrees Fahrenheit (0 -> 32, 100 -> 212)."""
    return celsius * 9 / 5 - 32


def report(readings):
    """Format each Celsius reading as ``"<c> C = <f> F"`` with one decimal."""
    lines = []
    for celsius in readings:
        lines.append(f"{celsius:.1f} C = {to_fahrenheit(celsius):.1f} F")
    return lines
