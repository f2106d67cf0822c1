"""Files: every file name and format ipcsim writes or reads, writers and readers together."""
