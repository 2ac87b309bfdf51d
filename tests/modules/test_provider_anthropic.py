def test_import():
    import tests.support
