"""The console's Qt user interface: the main window, its panels, the map page, dialogs."""
