"""The TAXII 2.1 server (OASIS TAXII Version 2.1, sections 3 to 5), one view module per section."""
