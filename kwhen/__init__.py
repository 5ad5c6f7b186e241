"""kwhen: under which configurations is this line of a Kconfig/Kbuild tree built?"""

__version__ = "0.1.0"
