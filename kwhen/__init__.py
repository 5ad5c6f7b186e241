"""kwhen: under which configurations is this line of a Kconfig/Kbuild tree built?"""

__version__ = "0.1.0"

# The documentation pages of the public repository (SARIF rules link here).
DOCS_URL = "https://github.com/kwhen/kwhen/blob/main/docs"
