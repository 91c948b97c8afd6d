from pcapkit.cli.main import main

main()
