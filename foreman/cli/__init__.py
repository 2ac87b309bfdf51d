def main():
    """Entry point placeholder."""
