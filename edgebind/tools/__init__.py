"""The tool commands a user runs on a workstation or to try EdgeBind out: ``edgebind quickstart``
(embed one input per modality), ``bench`` (measure a bundle), ``eval`` (the emergent zero-shot
table) and ``demo`` (zero-shot detection in a simulated scene). Their command line is
``edgebind.tools.cli``; the other modules here are the library each calls."""
