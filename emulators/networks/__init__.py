"""The social networks' emulators (VK, OK, Telegram, MAX), one module each."""
