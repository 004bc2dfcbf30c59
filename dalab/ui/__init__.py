"""UI layer: plotly figure builders and the Gradio app. The only place for plotly/gradio."""
