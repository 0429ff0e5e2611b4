"""Named, reproducible experiments. Each module that offers a CLI command defines

    COMMAND = "name"
    def add_arguments(parser: argparse.ArgumentParser) -> None
    def main(args: argparse.Namespace) -> dict   # JSON-able result

and `python -m resviz name ...` finds it automatically (see resviz/__main__.py).
"""
