"""The msde command line: options, output, exit codes."""
