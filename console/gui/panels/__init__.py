"""The dockable panels the main window composes: incident, nearby cameras, camera detail."""
