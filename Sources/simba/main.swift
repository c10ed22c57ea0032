// Entry point: parse the command line before MPI starts (a wrong flag never
// reaches MPI), then run the command on every rank.
Launcher.main()
