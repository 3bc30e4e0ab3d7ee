from fortytwomin_snov.host.cli import main

main()
